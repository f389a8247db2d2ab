//! Relationship declarations on both backends: mutually referencing models,
//! a many-to-many through an explicit association model with extra columns,
//! a self-referential many-to-many, and declaration errors.

use dbridge_engine::ErrorKind;
use dbridge_engine::schema::{Column, Metadata, Model, Relationship, RelationshipKind};
use dbridge_engine::session::{Instance, Load, Session};
use dbridge_engine::{SqlType, Value};
use dbridge_testkit::each_backend;

each_backend!(mutually_referencing_models, |t| async move {
    // A user has a favourite post; a post has an author: a cycle of foreign keys.
    let meta = Metadata::new();
    let user = dbridge_testkit::keyed("Person", "people")
        .column(Column::new("favorite_id", SqlType::Int8).references("articles", "id"))
        .relationship("favorite", Relationship::belongs_to("Article"))
        .relationship(
            "articles",
            Relationship::has_many("Article").back_populates("writer"),
        )
        .build()
        .unwrap();
    let article = dbridge_testkit::keyed("Article", "articles")
        .column(Column::new("writer_id", SqlType::Int8).references("people", "id"))
        .column(Column::new("title", "text"))
        .build()
        .unwrap();
    meta.add_all([user.clone(), article.clone()]).unwrap();
    meta.create_all(&t.db).await.unwrap();
    let ada = Instance::new(&user);
    let art = Instance::with_values(&article, [("title", "On engines")]).unwrap();
    ada.add_related("articles", &art).unwrap();
    ada.set_related("favorite", Some(&art)).unwrap();
    let mut s = Session::new(&t.db);
    s.add(ada.clone()).unwrap();
    s.commit().await.unwrap(); // one of the keys is set by a post-update
    assert_eq!(art.get("writer_id").unwrap(), ada.get("id").unwrap());
    assert_eq!(ada.get("favorite_id").unwrap(), art.get("id").unwrap());
    drop(s);
    let mut s = Session::new(&t.db);
    let people = s
        .query(&user)
        .options([Load::joined("favorite.writer"), Load::selectin("articles")])
        .all()
        .await
        .unwrap();
    let fav = people[0].related_one("favorite").unwrap().unwrap();
    assert!(
        fav.related_one("writer")
            .unwrap()
            .unwrap()
            .ptr_eq(&people[0])
    );
    assert!(people[0].related_many("articles").unwrap()[0].ptr_eq(&fav));
});

each_backend!(many_to_many_through_an_association_model, |t| async move {
    let meta = Metadata::new();
    let student = dbridge_testkit::keyed("Student", "students")
        .column(Column::new("name", "text"))
        .relationship(
            "courses",
            Relationship::many_to_many("Course")
                .through("Enrollment")
                .back_populates("students"),
        )
        .relationship("enrollments", Relationship::has_many("Enrollment"))
        .build()
        .unwrap();
    let course = dbridge_testkit::keyed("Course", "courses")
        .column(Column::new("title", "text"))
        .build()
        .unwrap();
    let enrollment = Model::builder("Enrollment")
        .table("enrollments")
        .column(
            Column::new("student_id", SqlType::Int8)
                .primary_key()
                .references("students", "id"),
        )
        .column(
            Column::new("course_id", SqlType::Int8)
                .primary_key()
                .references("courses", "id"),
        )
        .column(Column::new("grade", "text").default("none"))
        .build()
        .unwrap();
    meta.add_all([student.clone(), course.clone(), enrollment.clone()])
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let sam = Instance::with_values(&student, [("name", "Sam")]).unwrap();
    let math = Instance::with_values(&course, [("title", "Math")]).unwrap();
    sam.add_related("courses", &math).unwrap();
    let mut s = Session::new(&t.db);
    s.add(sam.clone()).unwrap();
    s.commit().await.unwrap();
    // The extra column took its default; the association model reads it.
    let rows =
        t.db.fetch_all("SELECT grade FROM enrollments", &[])
            .await
            .unwrap();
    assert_eq!(rows[0].get("grade").unwrap(), &Value::from("none"));
    drop(s);
    let mut s = Session::new(&t.db);
    let students = s
        .query(&student)
        .options([Load::selectin("courses"), Load::selectin("enrollments")])
        .all()
        .await
        .unwrap();
    let courses = students[0].related_many("courses").unwrap();
    assert_eq!(courses[0].get("title").unwrap(), Value::from("Math"));
    let e = &students[0].related_many("enrollments").unwrap()[0];
    assert_eq!(e.get("grade").unwrap(), Value::from("none"));
    assert_eq!(
        student.relationship("courses").unwrap().kind,
        RelationshipKind::ManyToMany
    );
});

each_backend!(self_referential_many_to_many, |t| async move {
    let meta = Metadata::new();
    let person = dbridge_testkit::keyed("Member", "members")
        .column(Column::new("name", "text"))
        .relationship(
            "following",
            Relationship::many_to_many("Member")
                .secondary("follows")
                .secondary_columns("follower_id", "followed_id")
                .back_populates("followers"),
        )
        .build()
        .unwrap();
    meta.add(person.clone()).unwrap();
    meta.create_all(&t.db).await.unwrap();
    let a = Instance::with_values(&person, [("name", "a")]).unwrap();
    let b = Instance::with_values(&person, [("name", "b")]).unwrap();
    a.add_related("following", &b).unwrap();
    assert!(b.contains_related("followers", &a).unwrap());
    let mut s = Session::new(&t.db);
    s.add(a.clone()).unwrap();
    s.commit().await.unwrap();
    drop(s);
    let mut s = Session::new(&t.db);
    let all = s
        .query(&person)
        .order_by(person.col("id").unwrap())
        .options([Load::selectin("following"), Load::joined("followers")])
        .all()
        .await
        .unwrap();
    assert_eq!(all[0].related_many("following").unwrap().len(), 1);
    assert!(all[0].related_many("followers").unwrap().is_empty());
    assert!(all[1].related_many("followers").unwrap()[0].ptr_eq(&all[0]));
    // any() through the association table.
    let followed = s
        .query(&person)
        .filter(person.any("followers", None).unwrap())
        .count()
        .await
        .unwrap();
    assert_eq!(followed, 1);
});

#[test]
fn declaration_errors_name_the_model_and_relationship() {
    let meta = Metadata::new();
    let node = Model::builder("Link")
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("a_id", SqlType::Int8).references("Link", "id"))
        .column(Column::new("b_id", SqlType::Int8).references("Link", "id"))
        .relationship("a", Relationship::belongs_to("Link"))
        .relationship("b", Relationship::belongs_to("Link").foreign_key("b_id"))
        .relationship("c", Relationship::many_to_many("Link").secondary("pairs"))
        .build()
        .unwrap();
    let err = meta.add(node.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(
        err.to_string().contains("needs `secondary_columns`"),
        "{err}"
    );
    let node = Model::builder("Link2")
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("a_id", SqlType::Int8).references("Link2", "id"))
        .column(Column::new("b_id", SqlType::Int8).references("Link2", "id"))
        .relationship("a", Relationship::belongs_to("Link2"))
        .relationship("b", Relationship::belongs_to("Link2").foreign_key("b_id"))
        .build()
        .unwrap();
    meta.add(node.clone()).unwrap();
    let err = node.relationship("a").unwrap_err();
    assert!(
        err.to_string()
            .contains("has several foreign keys to table `Link2`; name one with `foreign_key`"),
        "{err}"
    );
    assert_eq!(node.relationship("b").unwrap().local, vec![2]);
    let dup = Model::builder("Dup")
        .column(Column::new("id", SqlType::Int8).primary_key())
        .relationship("x", Relationship::has_many("Dup"))
        .relationship("x", Relationship::has_many("Dup"))
        .build()
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        "two relationships on model `Dup` are named `x`"
    );
}
